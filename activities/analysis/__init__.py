"""Alert analysis behind the ``Analyzer`` port: a deterministic rule knowledge base (always), and
an optional OpenAI-compatible LLM whose validated answer is preferred when it comes in time."""

from activities.analysis.llm import LlmAnalyzer
from activities.analysis.rules import RuleAnalyzer

__all__ = ["LlmAnalyzer", "RuleAnalyzer"]
