"""Prints the migration head(s) of the installed z4j, one per line, read from
the alembic scripts z4j ships. Run once at image build: a drill compares the
restored revision with the recorded head instead of starting another z4j
process (`z4j migrate current --check-heads`) for every drill."""
import os

import z4j_brain
from alembic.script import ScriptDirectory

print("\n".join(ScriptDirectory(os.path.join(os.path.dirname(z4j_brain.__file__), "migrations")).get_heads()))
