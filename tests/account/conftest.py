from tests.fixtures.app import client, shared_app

__all__ = ["client", "shared_app"]
