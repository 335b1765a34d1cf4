"""Shared by the generators of docs/ (architecture, access policies, security review, DR objectives) and
the DR drills: the synthesized app read back from its Terraform JSON, with Terraform references resolved
to the names a person recognizes. Generators read the synthesized app, so a resource a layer adds appears
in the documents without anyone restating it."""
