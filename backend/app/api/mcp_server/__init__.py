"""The playground as an MCP server: its models and knowledge bases as MCP tools.

``tools.py`` builds the server (the tools, over the app's services); ``http.py`` serves it at
``/mcp`` on the app; ``playground mcp`` (``cli.py``) serves it over stdio. Named apart from
``services/mcp/`` (the MCP client: tools of other servers for our models).
"""

from app.api.mcp_server.http import MCP_PATH, mount_mcp, serving
from app.api.mcp_server.tools import build_mcp_server

__all__ = ["MCP_PATH", "build_mcp_server", "mount_mcp", "serving"]
