"""What a report promised: targets read from its text, matched to the next year's review, and the ledger."""
