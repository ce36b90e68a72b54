"""Conversations: declarative flows (``flows``), the engine that runs them (``engine``), the
three ready flows (``ready_flows``) and the router where your own handlers plug in (``router``)."""
