"""The CDKTF app context, free of CDK imports: the synth cache's key reads it without loading the framework."""

# CDKTF feature flags of a current `cdktf init`, fixed here so `cdktf synth` and `python main.py`
# produce the same logical ids.
APP_CONTEXT = {
    "excludeStackIdFromLogicalIds": "true",
    "allowSepCharsInLogicalIds": "true",
}
