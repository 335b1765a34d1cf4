"""ai-server: deterministic inference, GPU detection and the in-flight gauge the HPA scales on."""
from __future__ import annotations

import threading

import pytest
from svc_testlib import POLL_INTERVAL, wait_until

from ai_server.app import create_service, load_config
from ai_server.gpu import GpuInfo, detect_gpu
from ai_server.model import LABELS, FakeModel
from platform_service import ConfigError

NO_GPU = GpuInfo(False, reason="test")
ONE_GPU = GpuInfo(True, devices=("/dev/nvidia0",), visible_devices="0", reason="test")


@pytest.fixture
def ai(run_service, base_env):
    def _start(gpu=NO_GPU, model=None, **env):
        config = load_config({**base_env, **env})
        return run_service(create_service(config, gpu=gpu, model=model, poll_interval=POLL_INTERVAL))
    return _start


def test_predictions_are_deterministic(ai):
    client = ai()
    body = {"inputs": ["great product", 42, {"text": "meh"}]}
    first, second = client.post("/v1/infer", body), client.post("/v1/infer", body)
    assert first.status == 200 and first.json == second.json
    result = first.json
    assert result["device"] == "cpu" and result["model"] == "reference-classifier"
    assert result["predictions"] == FakeModel().predict(body["inputs"])
    for prediction in result["predictions"]:
        assert prediction["label"] in LABELS and 0.5 <= prediction["score"] <= 1.0
    # Different inputs give different digests; over a few inputs more than one label shows up.
    labels = {p["label"] for p in FakeModel().predict([f"input-{i}" for i in range(20)])}
    assert len(labels) > 1


@pytest.mark.parametrize("body, status", [
    ({"inputs": []}, 400), ({"inputs": "text"}, 400), ({"data": [1]}, 400), ({"inputs": [1, 2, 3]}, 413)])
def test_invalid_requests(ai, body, status):
    reply = ai(MAX_BATCH_SIZE="2").post("/v1/infer", body)
    assert reply.status == status and "error" in reply.json


def test_inflight_gauge_tracks_running_inference(ai):
    release, entered = threading.Event(), threading.Event()

    class BlockingModel(FakeModel):
        def predict(self, inputs):
            entered.set()
            release.wait(5)
            return super().predict(inputs)

    client = ai(model=BlockingModel())
    assert client.metric("ai_server_inflight_requests") == 0
    replies = []
    caller = threading.Thread(target=lambda: replies.append(client.post("/v1/infer", {"inputs": ["x"]})))
    caller.start()
    try:
        assert entered.wait(2)
        assert client.metric("ai_server_inflight_requests") == 1
    finally:
        release.set()
        caller.join(5)
    assert replies[0].status == 200
    assert wait_until(lambda: client.metric("ai_server_inflight_requests") == 0)
    assert client.metric("ai_server_inference_duration_seconds_count", device="cpu") == 1
    assert client.metric("ai_server_inflight_requests") == 0
    # A rejected request (bad body) must not leave the gauge raised.
    client.post("/v1/infer", {"inputs": []})
    assert client.metric("ai_server_inflight_requests") == 0


def test_gpu_is_reported_in_info_and_metrics(ai):
    client = ai(gpu=ONE_GPU, NODE_POOL="gpu-l4")
    info = client.get("/v1/info").json
    assert info["pool"] == "gpu-l4" and info["device"] == "gpu"
    assert info["gpu"]["available"] is True and info["gpu"]["devices"] == ["/dev/nvidia0"]
    assert client.metric("ai_server_gpu_available") == 1
    assert client.metric("ai_server_gpu_devices") == 1
    assert client.post("/v1/infer", {"inputs": ["x"]}).json["device"] == "gpu"


def test_require_gpu_keeps_a_cpu_only_pod_unready(ai):
    client = ai(gpu=NO_GPU, REQUIRE_GPU="true")
    reply = client.get("/readyz")
    assert reply.status == 503 and reply.json["checks"]["gpu"] is False
    assert client.metric("ai_server_gpu_available") == 0


def test_detect_gpu_from_device_nodes(tmp_path):
    for name in ("nvidia1", "nvidia0", "nvidiactl", "nvidia-uvm", "null"):
        (tmp_path / name).touch()
    info = detect_gpu(str(tmp_path), environ={}, which=lambda cmd, path: None)
    assert info.available and info.devices == (str(tmp_path / "nvidia0"), str(tmp_path / "nvidia1"))


def test_detect_gpu_does_not_trust_the_variable_alone(tmp_path):
    info = detect_gpu(str(tmp_path), environ={"NVIDIA_VISIBLE_DEVICES": "all"},
                      which=lambda cmd, path: "/usr/local/nvidia/bin/nvidia-smi")
    assert not info.available and "no /dev/nvidia" in info.reason
    assert info.as_dict()["nvidia_smi"] == "/usr/local/nvidia/bin/nvidia-smi"
    (tmp_path / "nvidia0").touch()
    hidden = detect_gpu(str(tmp_path), environ={"NVIDIA_VISIBLE_DEVICES": "void"}, which=lambda cmd, path: None)
    assert not hidden.available
    assert detect_gpu(str(tmp_path / "missing"), environ={}, which=lambda cmd, path: None).available is False


def test_invalid_environment_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"REQUIRE_GPU='maybe' is not a boolean"):
        load_config({"REQUIRE_GPU": "maybe"})
