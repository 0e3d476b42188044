"""``python app.py``: the ReportQA web chat on 127.0.0.1:7860 (builds the index first if missing)."""

import sys

from reportqa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
