def test_every_environment_has_bootstrap_and_network(synthesized):
    for env in ("dev", "staging", "prod"):
        assert synthesized.resources(env, "network", "google_compute_network")
        assert synthesized.resources(env, "bootstrap", "google_storage_bucket")
