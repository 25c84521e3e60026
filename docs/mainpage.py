#!/usr/bin/env python3
"""README.md as the reference's start page: links Doxygen cannot resolve
(anchors in GitHub's style, files of the repository) become plain text
naming their target; everything else is kept.

  mainpage.py README.md OUT.md"""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
# [text](#anchor) -> text
text = re.sub(r"\[([^\]]+)\]\(#[^)]+\)", r"\1", text)
# [text](path/in/the/repo) -> text (`path`), but not images or URLs
text = re.sub(r"(?<!!)\[([^\]]+)\]\((?!https?:)([^)]+)\)", r"\1 (`\2`)", text)
open(sys.argv[2], "w", encoding="utf-8").write(text)
