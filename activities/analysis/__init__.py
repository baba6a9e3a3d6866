"""Alert analysis (v1): a deterministic rule knowledge base behind the ``Analyzer`` port."""

from activities.analysis.rules import RuleAnalyzer

__all__ = ["RuleAnalyzer"]
