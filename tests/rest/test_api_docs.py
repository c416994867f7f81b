"""The API's documentation works offline and describes every operation."""

from __future__ import annotations

from html.parser import HTMLParser
from importlib.metadata import version
from urllib.parse import urlsplit

import httpx
import pytest


class _Assets(HTMLParser):
    """Every URL a page loads: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img") and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
async def test_docs_pages_load_only_assets_served_here(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    parser = _Assets()
    parser.feed(response.text)
    assert parser.urls, "the page loads its assets"
    assert "https://" not in response.text  # no CDN anywhere in the page
    for url in parser.urls:
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, f"{url} leaves the host"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content


async def test_every_operation_has_a_summary_and_a_description(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    undescribed = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("description")
    ]
    assert undescribed == []


async def test_the_api_version_is_the_package_version(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    assert document["info"]["version"] == version("chargegroups")
