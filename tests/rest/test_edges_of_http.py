"""HTTP's own edges (issue 16, finding 6): 401 before validation, every status documented,
405 with Allow."""

from __future__ import annotations


async def test_a_decision_without_credentials_is_a_401_whatever_its_body(client) -> None:
    for body in ({}, {"charger_id": "x"}, {"charger_id": "x", "token_uid": "y"}):
        response = await client.post("/api/v1/decisions", json=body)
        assert response.status_code == 401, body


async def test_every_operation_documents_400_and_limited_ones_429(client) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert all("400" in op["responses"] for op in operations.values())
    for limited in ("/api/v1/auth/token", "/api/v1/signup", "/api/v1/verify-email"):
        assert "429" in operations[("post", limited)]["responses"], limited


async def test_a_method_not_allowed_names_the_allowed_ones(client) -> None:
    response = await client.request("TRACE", "/api/v1/me")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
