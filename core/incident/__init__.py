"""The incident's decisions in plain Python: no Temporal, no clock, no I/O (docs/adr/0020).

- state.py: what a run knows, starts from, carries and ends with;
- commands.py: what a step asks the workflow to do, and the results it hears back;
- core.py: deliveries, decisions, card requests and deadlines -> commands and one next wake-up;
- cards.py: when the card is called and which call; repairs.py: the repair's plan, approval, run,
  verification and learning.
"""
