"""Every field of the source documents has a home that exists in the generated CRDs."""

from __future__ import annotations

import re
from typing import Any

from tests.support.paths import REPO, load_crds

DOC = REPO / "docs" / "source-mapping.md"
KINDS = {"mesg": "ModelEvalServiceGroup", "et": "EvalTask"}
# `mesg` `spec.a.b` or `et` `status.x[].y`
HOME = re.compile(r"`(mesg|et)` `((?:spec|status)[A-Za-z0-9_.\[\]]*)`")

# The request and response fields of shared/seeds/README.md.
SEED_FIELDS = """
dockerImage cpuNum memorySize requestCpuNum requestMemorySize rootDiskSize environmentVariables
startupParameters serviceLivez serviceReadyz serviceBootUptime modelUuid name description type
zoneUuid clusterUuid l3NetworkUuids primaryStorageUuid modelServiceGroupUuids datasetUuids
taskType limits temperature topK topP maxLength maxNewTokens repetitionPenalty prompt model url
api parallel logEveryQuery requestHeaders connectTimeout readTimeout inventory.uuid
inventory.modelServiceUuid inventory.instances inventory.datasetRefInventories inventory.status
inventory.modelServiceType inventory.yaml inventory.supportMetrics inventory.exportPath
tasks[].percentage tasks[].opaque tasks[].modelServiceGroupUuid
tasks[].evaluatedServiceGroupUuid tasks[].datasetUuid tasks[].totalScore tasks[].endTime
taskName evalType state evalModelConfig.versionId evalModelConfig.storageType
evalModelConfig.storagePath evalModelConfigList[].modelId evalModelConfigList[].promptTemplate
evalModelConfigList[].params params.temperature params.top_p params.penalty_score params.system
params.top_k params.stop params.disable_search params.enable_citation
evalModelConfigList[].isBaseline evalInferDatasetConfigList[].inferDatasetId
evalInferDatasetConfigList[].isBaseline evalConfig.evalMode autoRuleEvalConfig.scoreModes
autoRuleEvalConfig.stopWordList autoRuleEvalConfig.stopWordsPath autoModelEvalConfig.apiName
promptParam.metric promptParam.steps promptParam.maxScore
manualEvalConfig.evalDimension[].dimension manualEvalConfig.evalDimension[].description
inferDatasetList[].inferDatasetId inferDatasetList[].modelId
""".split()


def _rows() -> dict[str, str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("Source field", "---"):
            for name in cells[0].split(" / "):
                rows[name] = cells[2]
    return rows


def _exists(schema: dict[str, Any], path: str) -> bool:
    node = schema
    for step in path.split("."):
        is_list = step.endswith("[]")
        node = node.get("properties", {}).get(step.removesuffix("[]"))
        if node is None:
            return False
        if is_list:
            node = node["items"]
    return True


def test_every_seed_field_has_a_row() -> None:
    rows = _rows()
    missing = [name for name in SEED_FIELDS if name not in rows]
    assert not missing


def test_every_home_exists_in_the_crds() -> None:
    crds = load_crds()
    homes = [(kind, path) for cell in _rows().values() for kind, path in HOME.findall(cell)]
    assert len(homes) > 80
    missing = []
    for kind, path in homes:
        schema = crds[KINDS[kind]]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        if not _exists(schema, path):
            missing.append(f"{kind} {path}")
    assert not missing
