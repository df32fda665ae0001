"""A real queue library producing or consuming, in its own process, as its users run it.

    python workload.py LIBRARY ROLE PATH

LIBRARY: huey | simplebroker | litequeue | persistqueue; ROLE: produce | consume.
PATH is the database file (persist-queue takes its directory and names the file data.db).
Prints "ready" once the queue is open, then works until stdin closes or it is killed. Each
library is used through its public API with its own defaults (journal mode, busy timeout,
checkpointing), because those defaults are what waltui must judge as healthy.
"""

from __future__ import annotations

import os
import sys
import threading
import time

# A healthy queue: consumers have spare capacity (a job costs them two transactions in
# huey and persist-queue), so producers pace at half their rate. Steady, not a CPU hog.
PAUSE = {"produce": 0.008, "consume": 0.004}


def huey_queue(path: str):
    from huey import SqliteHuey

    huey = SqliteHuey(filename=path, results=False)

    @huey.task()  # type: ignore[untyped-decorator]
    def work(n: int) -> int:
        return n

    def put(i: int) -> None:
        work(i)

    def take() -> None:
        task = huey.dequeue()
        if task is not None:
            huey.execute(task)

    return put, take


def simplebroker_queue(path: str):
    from simplebroker import Queue

    queue = Queue("jobs", db_path=path, persistent=True)
    return (lambda i: queue.write(f"job {i}")), (lambda: queue.read())


def litequeue_queue(path: str):
    from litequeue import LiteQueue

    queue = LiteQueue(path)

    def take() -> None:
        message = queue.pop()
        if message is not None:
            queue.done(message.message_id)

    return (lambda i: queue.put(f"job {i}")), take


def persistqueue_queue(path: str):
    from persistqueue import SQLiteAckQueue
    from persistqueue.exceptions import Empty

    queue = SQLiteAckQueue(os.path.dirname(path), multithreading=True, auto_commit=True)

    def take() -> None:
        try:
            item = queue.get(block=False)
        except Empty:
            return
        queue.ack(item)

    return (lambda i: queue.put(f"job {i}")), take


QUEUES = {"huey": huey_queue, "simplebroker": simplebroker_queue,
          "litequeue": litequeue_queue, "persistqueue": persistqueue_queue}


def main() -> None:
    library, role, path = sys.argv[1:4]
    put, take = QUEUES[library](path)
    stop = threading.Event()

    def stop_at_eof() -> None:  # the test closes our stdin to stop us
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_at_eof, daemon=True).start()
    print("ready", flush=True)
    i = 0
    while not stop.is_set():
        if role == "produce":
            put(i)
        else:
            take()
        i += 1
        time.sleep(PAUSE[role])


if __name__ == "__main__":
    main()
