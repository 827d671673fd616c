import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Runs of the CLI in the fixtures must not leave caches in the repository: one cache folder
# for the whole session, outside the tree (subprocesses inherit it).
os.environ.setdefault("FASTAPI_ARCH_LINT_CACHE_DIR", tempfile.mkdtemp(prefix="fal-test-cache-"))
