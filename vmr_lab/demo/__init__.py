"""``vmr-lab demo``: the whole of VMR on one machine, one failure, healed.

The command and its options are in ``command`` (``register``, ``run_demo``);
:class:`Demo`, the run itself, in ``runner``, put together from
``processes`` (agents, coordinators, their configuration), ``servers``
(what a scenario builds through openstacksdk) and ``scenarios`` (the
failures and their verdicts); the contract and timing in ``defaults``.
"""

from vmr_lab.demo.command import register, run_demo  # noqa: F401 - the API
from vmr_lab.demo.defaults import DEMO_CONTRACT, DEMO_TIMING, SCENARIOS, TIMINGS  # noqa: F401
from vmr_lab.demo.runner import Demo  # noqa: F401 - the API
