"""Tools the model may call: Python functions, `Tool`s and toolsets, run by the tool loop."""

from .dataframe_tools import DataFrameTools, dataframe
from .execute import Settings
from .steps import ModelTurn, ToolRun
from .tool import Tool, as_tools

__all__ = ["DataFrameTools", "ModelTurn", "Settings", "Tool", "ToolRun", "as_tools", "dataframe"]
