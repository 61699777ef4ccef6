"""A TaskGroup of asyncio workers whose split of time is known (3.11+).

  asyncio.run(main())          Task-1   main: async with TaskGroup()
    "heavy"   rounds of heavy_work()     spins HEAVY_US
    "light"   rounds of light_work()     spins LIGHT_US

Each round does its work, then awaits in turn asyncio.sleep(0), a future of
its own (loop.create_future(), resolved by loop.call_soon) and
asyncio.sleep(1e-5) (asyncio's create_future and call_later), with the work
split in three around them.  A step lasts tens of microseconds, so the
running task changes thousands of times a second: a profiler that reads the
running task and the thread's frames at two moments sees one task's frames
(or the event loop's) under the other's name.

The workers time their own work (time.perf_counter around each work call)
and the time spent in loop.create_future() calls of their own.  After
--seconds (default 2.5) the target sends "done" with the totals, in seconds:

  work     {"heavy": s, "light": s}   inside heavy_work() / light_work()
  future   {"heavy": s, "light": s}   inside the worker's own create_future()
  rounds   {"heavy": n, "light": n}
  window   s                          from the first round to the last

and exits 0.  "ready" is sent before the first round.
"""
import sys
import time

import _common as c

HEAVY_US = 60
LIGHT_US = 20

clock = time.perf_counter


def spin(seconds):
    end = clock() + seconds
    while clock() < end: pass  # @spin


def heavy_work():
    spin(HEAVY_US / 3e6)  # @heavy_work


def light_work():
    spin(LIGHT_US / 3e6)  # @light_work


async def worker(name, work, until, totals):
    loop = asyncio.get_running_loop()
    spent = future = 0.0
    rounds = 0
    while clock() < until:
        t = clock()
        work()  # @work1
        spent += clock() - t
        await asyncio.sleep(0)  # @await_sleep0
        t = clock()
        work()  # @work2
        spent += clock() - t
        t = clock()
        fut = loop.create_future()  # @own_future
        future += clock() - t
        loop.call_soon(fut.set_result, None)
        await fut  # @await_future
        t = clock()
        work()  # @work3
        spent += clock() - t
        await asyncio.sleep(1e-5)  # @await_sleep
        rounds += 1
    totals["work"][name] = spent
    totals["future"][name] = future
    totals["rounds"][name] = rounds


async def main(seconds):
    totals = {"work": {}, "future": {}, "rounds": {}}
    c.signal("ready", __file__)
    start = clock()
    until = start + seconds
    async with asyncio.TaskGroup() as tg:  # @group
        tg.create_task(worker("heavy", heavy_work, until, totals), name="heavy")
        tg.create_task(worker("light", light_work, until, totals), name="light")
    totals["window"] = clock() - start
    c.signal("done", **totals)


if __name__ == "__main__":
    import asyncio
    seconds = 2.5
    if "--seconds" in sys.argv:
        seconds = float(sys.argv[sys.argv.index("--seconds") + 1])
    asyncio.run(main(min(seconds, c.END - c.now())))  # @module
