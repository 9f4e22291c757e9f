from tests.client.live import server

__all__ = ["server"]
