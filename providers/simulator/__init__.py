"""The provider simulator: SMS.IR and Kavenegar as their real APIs behave, on 127.0.0.1, with fault injection."""

from providers.simulator.server import start_simulator

__all__ = ["start_simulator"]
