"""The ethics checklist: a default checklist shipped as YAML, the user's answers and sign-off,
and each item linked to the audit evidence that bears on it.

``spec`` reads and validates checklists and answers files, ``evidence`` resolves
evidence sources from a result, ``evaluate`` builds ``result["checklist"]`` and
``template`` writes the answers file for ``rai-audit checklist init``.
"""
