from tests.fixtures.revocations import revocations

__all__ = ["revocations"]
