# Target (vi): time.monotonic() in a loop: many stops land in the vDSO's
# clock_gettime, a code page that is no file of the target.
import time

while True:
    time.monotonic()
