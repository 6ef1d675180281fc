"""The browser chat (Gradio). Thin: it only wires widgets to the public `qa` API."""
import sys


def main() -> int:
    print("The browser chat is not built yet; use the CLI: article-qa ask \"...\"", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
