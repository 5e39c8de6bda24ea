"""The one scheduler (SPEC §11.1): non-SI, SI and DSI as pure state machines, and the
virtual-time driver that runs them in exact rational time.

* :mod:`reference.scheduler.protocol` — forwards, start commands, end events, the token rule;
* :mod:`reference.scheduler.base` — servers, FIFO queue, the cancellation rule, the instant;
* :mod:`reference.scheduler.dsi` — the rules of DSI (SPEC §4.3);
* :mod:`reference.scheduler.blocking` — non-SI, plain and SI (SPEC §4.1, §4.2);
* :mod:`reference.scheduler.build` — the scheduler for an algorithm name;
* :mod:`reference.scheduler.virtual` — the virtual-time driver.

The runtime's wall-time driver (:mod:`gpu_runtime.driver`) runs the same classes.
"""

from reference.scheduler.base import Scheduler
from reference.scheduler.blocking import NonSIScheduler, SIScheduler
from reference.scheduler.build import ALGORITHMS, build_scheduler
from reference.scheduler.dsi import DSIScheduler
from reference.scheduler.protocol import Ended, Forward, Start
from reference.scheduler.virtual import VirtualDriver

__all__ = ["ALGORITHMS", "DSIScheduler", "Ended", "Forward", "NonSIScheduler", "SIScheduler", "Scheduler",
           "Start", "VirtualDriver", "build_scheduler"]
