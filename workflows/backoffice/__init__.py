"""Back offices: where billing, return and order-status tasks are carried out (see base.py)."""
