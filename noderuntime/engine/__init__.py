"""The node engine: trees, trigger matching, the node executor and the agenda scheduler."""

from noderuntime.engine.executor import ChainResult, Engine
from noderuntime.engine.sender import RecordingSender, Sender
from noderuntime.engine.trees import Node, Redirect, Tree, TreeError

__all__ = ["ChainResult", "Engine", "Node", "RecordingSender", "Redirect", "Sender", "Tree", "TreeError"]
