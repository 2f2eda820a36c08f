"""Peers of benchmarks/bench_serving.py that are not loopml.

    python serving_floor.py mlflow-save --model model.pkl --out DIR   # in .bench/mlflow
    python serving_floor.py floor --model model.pkl --port P          # loopml's venv

``mlflow-save`` writes the pickled estimator as an MLflow model folder (for ``mlflow models
serve``); ``floor`` is the bare FastAPI + uvicorn endpoint that only decodes the rows and calls
``predict`` (in FastAPI's thread pool, as a plain ``def`` route): the Python floor.
"""

# No ``from __future__ import annotations``: FastAPI must see ``Request`` as a class.
import argparse
import pickle
from pathlib import Path


def mlflow_save(model_path: Path, out: Path) -> None:
    import mlflow.sklearn
    import numpy as np
    from mlflow.models import infer_signature

    model = pickle.loads(model_path.read_bytes())
    example = np.zeros((1, model.n_features_in_))
    mlflow.sklearn.save_model(
        model,
        str(out),
        signature=infer_signature(example, model.predict(example)),
        serialization_format="cloudpickle",  # a forest's trees are not on skops' trusted list
    )


def floor(model_path: Path, port: int) -> None:
    import numpy as np
    import orjson
    import uvicorn
    from fastapi import FastAPI, Request, Response
    from starlette.concurrency import run_in_threadpool

    model = pickle.loads(model_path.read_bytes())
    app = FastAPI()

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        rows = np.asarray(orjson.loads(await request.body())["instances"])
        out = await run_in_threadpool(model.predict, rows)
        return Response(orjson.dumps({"predictions": out.tolist()}), media_type="application/json")

    @app.get("/ping")
    async def ping() -> Response:
        return Response(b"{}", media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["mlflow-save", "floor"])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.what == "mlflow-save":
        mlflow_save(args.model, args.out)
    else:
        floor(args.model, args.port)


if __name__ == "__main__":
    main()
