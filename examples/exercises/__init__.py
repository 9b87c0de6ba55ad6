"""Teaching exercises with planted biases, installed as ``audit.exercise_files`` (data only;
see audit/exercises.py and ``rai-audit exercise``)."""
