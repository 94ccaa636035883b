"""A source module that needs a package that is not installed."""

import bi_not_installed_sdk  # type: ignore[import-not-found]


def rows() -> list[dict[str, int]]:
    return [{"id": bi_not_installed_sdk.VERSION}]
