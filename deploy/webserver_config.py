"""FAB's webserver_config.py for altium2kicad: point `[fab] config_file` at this file.

Every setting comes from `user_management` in the pipeline configuration (ALTIUM2KICAD_CONFIG),
computed by include/access/fab_settings.py, so LDAP, Azure AD and the role mapping are validated
with the rest of the configuration and a missing secret stops the api-server with its name.
FAB reads the upper-case names of this module (AUTH_TYPE, AUTH_LDAP_*, AUTH_ROLES_MAPPING, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The project root (this file's parent's parent) holds `include`; the api-server's sys.path has
# only the dags and plugins folders.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

from include.access.fab_settings import fab_settings  # noqa: E402
from include.config import load_config  # noqa: E402

globals().update(fab_settings(load_config().user_management))
