/* clock.h - monotonic time and sleeping to an absolute deadline. */
#ifndef STROBE_BASE_CLOCK_H
#define STROBE_BASE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t clock_now_ns(void);
/* Sleep until the monotonic time deadline_ns (absolute, so no drift).  Returns
 * early (with -1) when a signal interrupts the sleep, so callers can check
 * their stop flag; 0 when the deadline was reached. */
int clock_sleep_until(uint64_t deadline_ns);
/* Ask the kernel for the smallest timer slack so sleeps end on time. */
void clock_tighten_slack(void);

#endif
