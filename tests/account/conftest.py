from tests.fixtures.app import client, shared_app
from tests.fixtures.revocations import revocations

__all__ = ["client", "revocations", "shared_app"]
