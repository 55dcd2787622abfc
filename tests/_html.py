"""A test helper: the text of an HTML page (for the --export checks)."""

from html.parser import HTMLParser


class PageText(HTMLParser):
    """Collects every text node of the page fed to it, in order, in ``parts``."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
