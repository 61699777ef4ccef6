"""A tree of asyncio tasks for --async-aware (needs 3.11+: TaskGroup).

  asyncio.run(main())                        Task-1   main
    gather(group(), nap())                   Task-2   group, Task-3 nap
      group: async with TaskGroup()
        "worker"   outer -> inner -> spin    the running task: never yields
        "sleeper"  nap                       suspended in asyncio.sleep
        "nested"   awaits task "grandchild"  (created with asyncio.create_task)
                     "grandchild": nap
        "fan-1", "fan-2"  both await task "shared": nap, so "shared" has two
                     parents (created with asyncio.create_task, outside the group)

Every task but the worker marks itself just before it suspends; the worker
yields until all have, then reports ready and spins on one line until END.

  --thread   a second thread runs its own event loop with one task "remote"
             (nap), suspended before ready; its native id is in the message
  --late     wait 0.5 s before importing asyncio (a 3.14 target maps its
             _asyncio extension only then)
  --orphan   before the tree, a thread creates a task "orphan" (nap) in a loop
             of its own, runs that loop until the task has started, and ends:
             the task, still pending, lives on in the interpreter's list of
             tasks whose thread has gone
"""
import sys
import threading
import time

import _common as c

_lock = threading.Lock()
_marked = [0]


def mark():
    with _lock:
        _marked[0] += 1


def marked():
    with _lock:
        return _marked[0]


async def nap():
    mark()
    await asyncio.sleep(c.END - c.now())  # @nap


def spin():
    while c.now() < c.END: pass  # @spin


async def inner(expected, info):
    while marked() < expected:
        await asyncio.sleep(0)
    c.signal("ready", __file__, **info)
    spin()  # @inner
    c.timed_out()


async def outer(expected, info):
    await inner(expected, info)  # @outer


async def nested():
    mark()
    await asyncio.create_task(nap(), name="grandchild")  # @nested


async def fan(task):
    mark()
    await task  # @fan


async def group(expected, info):
    shared = asyncio.create_task(nap(), name="shared")
    async with asyncio.TaskGroup() as tg:  # @group
        tg.create_task(outer(expected, info), name="worker")
        tg.create_task(nap(), name="sleeper")
        tg.create_task(nested(), name="nested")
        tg.create_task(fan(shared), name="fan-1")
        tg.create_task(fan(shared), name="fan-2")


async def main(expected, info):
    await asyncio.gather(group(expected, info), nap())  # @main


_kept = []


def orphan():
    loop = asyncio.new_event_loop()
    _kept.append((loop, loop.create_task(nap(), name="orphan")))
    loop.run_until_complete(asyncio.sleep(0))  # the task's first step: it marks


def remote(tids):
    tids["remote"] = threading.get_native_id()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(loop.create_task(nap(), name="remote"))


if __name__ == "__main__":
    if "--late" in sys.argv:
        time.sleep(0.5)
    import asyncio
    # sleeper, nested, grandchild, fan-1, fan-2, shared, Task-3 (+ remote)
    expected = 7
    info = {"threads": {"main": threading.get_native_id()}}
    if "--orphan" in sys.argv:
        gone = threading.Thread(target=orphan)
        gone.start()
        gone.join()
        expected += 1
    if "--thread" in sys.argv:
        threading.Thread(target=remote, args=(info["threads"],), daemon=True).start()
        expected += 1
    asyncio.run(main(expected, info))  # @module
