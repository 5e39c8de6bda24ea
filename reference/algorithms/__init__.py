"""non-SI, SI and DSI as schedules in virtual time that really call the models (SPEC §4).

All share one signature (``run(setup) -> Result``) and one result type.
"""
