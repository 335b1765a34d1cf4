"""ai-server: an inference stand-in.

POST /v1/infer {"inputs": [<string|number|object>, ...]} -> {"model": ..., "device": "gpu"|"cpu",
"predictions": [{"label": ..., "score": ...}, ...]}. GET /v1/info reports service, version, pool and GPU.
`ai_server_inflight_requests` counts inference requests being processed; the HPA scales on it.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Optional

from prometheus_client import Counter, Gauge, Histogram

from platform_service import EnvReader, HttpError, Request, Response, Service, ServiceConfig

from . import SERVICE_NAME
from .gpu import GpuInfo, detect_gpu
from .model import FakeModel, Model


@dataclass(frozen=True)
class AiConfig:
    base: ServiceConfig
    model_name: str = "reference-classifier"
    model_version: str = "1"
    max_batch_size: int = 32
    inference_latency_seconds: float = 0.0
    require_gpu: bool = False


def load_config(environ: Optional[Mapping[str, str]] = None) -> AiConfig:
    env = EnvReader(environ)
    base = ServiceConfig.from_env(SERVICE_NAME, env)
    config = AiConfig(
        base=base,
        model_name=env.str("MODEL_NAME", "reference-classifier"),
        model_version=env.str("MODEL_VERSION", "1"),
        max_batch_size=env.int("MAX_BATCH_SIZE", 32, minimum=1, maximum=4096),
        inference_latency_seconds=env.int("INFERENCE_LATENCY_MS", 0, minimum=0, maximum=60_000) / 1000.0,
        require_gpu=env.bool("REQUIRE_GPU", False),
    )
    env.finish()
    return config


def create_service(config: AiConfig, *, model: Optional[Model] = None, gpu: Optional[GpuInfo] = None,
                   **service_kwargs: Any) -> Service:
    service = Service(config.base, **service_kwargs)
    gpu = gpu if gpu is not None else detect_gpu()
    model = model if model is not None else FakeModel(config.model_name, config.model_version,
                                                      config.inference_latency_seconds)
    device = "gpu" if gpu.available else "cpu"
    registry = service.registry
    inflight = Gauge("ai_server_inflight_requests", "Inference requests currently being processed.",
                     registry=registry)
    Gauge("ai_server_gpu_available", "1 if an NVIDIA GPU device is visible to this container.",
          registry=registry).set(1 if gpu.available else 0)
    Gauge("ai_server_gpu_devices", "NVIDIA device nodes visible to this container.",
          registry=registry).set(len(gpu.devices))
    latency = Histogram("ai_server_inference_duration_seconds", "Model time per inference request.",
                        ["device"], registry=registry,
                        buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
    predictions = Counter("ai_server_predictions", "Predictions returned, by label.", ["label"],
                          registry=registry)
    if config.require_gpu:
        # A GPU pool pod that landed without a GPU must not take traffic; /readyz says why.
        service.add_ready_check("gpu", lambda: gpu.available)
    service.log.info("gpu detection", device=device, **gpu.as_dict())

    def info(_: Request) -> Response:
        base = config.base
        return Response(200, {"service": base.service_name, "version": base.version, "pool": base.pool,
                              "instance": base.instance, "device": device, "gpu": gpu.as_dict(),
                              "model": {"name": model.name, "version": model.version},
                              "max_batch_size": config.max_batch_size})

    def infer(request: Request) -> Response:
        with inflight.track_inprogress():
            payload = request.json()
            if not isinstance(payload, dict) or "inputs" not in payload:
                raise HttpError(HTTPStatus.BAD_REQUEST, 'body must be a JSON object with an "inputs" list')
            inputs = payload["inputs"]
            if not isinstance(inputs, list) or not inputs:
                raise HttpError(HTTPStatus.BAD_REQUEST, '"inputs" must be a non-empty list')
            if len(inputs) > config.max_batch_size:
                raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                f"batch of {len(inputs)} exceeds MAX_BATCH_SIZE={config.max_batch_size}")
            started = time.perf_counter()
            results = model.predict(inputs)
            latency.labels(device).observe(time.perf_counter() - started)
            for result in results:
                predictions.labels(str(result.get("label", "unknown"))).inc()
            return Response(200, {"model": model.name, "model_version": model.version, "device": device,
                                  "predictions": results})

    service.add_route("GET", "/v1/info", info)
    service.add_route("POST", "/v1/infer", infer)
    return service


def build_service(environ: Optional[Mapping[str, str]] = None) -> Service:
    return create_service(load_config(environ))
