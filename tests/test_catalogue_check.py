"""`rag eval --catalogue`: the catalogue over a whole real collection, as published and with its
front matter removed, against the place, level and year its layout gives; and the command itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli.main import app
from rag.evaluation.catalogue_check import CatalogueCheck, FolderLayout, LayoutMismatch, Truth, same_place

#: issue 24's acceptance, per mode
THRESHOLDS = {"region": 0.995, "year": 0.995, "level": 0.99}


@pytest.fixture(scope="module")
def collection_check(gov_reports):
    """The whole collection: it reads in well under two minutes, so no sample is needed."""
    return CatalogueCheck(FolderLayout.named("gov-reports")).run(gov_reports)


@pytest.mark.parametrize("mode", ["published", "stripped"])
def test_the_real_collection_is_named_right(collection_check, mode):
    assert collection_check.checked[mode] >= 1467
    for field, floor in THRESHOLDS.items():
        misses = [m for m in collection_check.misses if m.mode == mode and m.field == field]
        assert collection_check.accuracy(mode, field) >= floor, misses
    assert [s for s, _ in collection_check.not_checked] == ["README.md"]  # named, not dropped


def test_the_layout_gives_the_truth_from_the_path():
    layout = FolderLayout.named("gov-reports")
    assert layout.truth(Path("主要城市/北京市/2024.md")) == Truth("北京市", "省", 2024)  # a municipality
    assert layout.truth(Path("主要城市/成都市/2025.md")) == Truth("成都市", "市", 2025)
    assert layout.truth(Path("其他地市/邢台市/2021-08.md")) == Truth("邢台市", "市", 2021)
    assert layout.truth(Path("省自治区/广西壮族自治区/2019.md")).level == "省"
    with pytest.raises(LayoutMismatch):
        layout.truth(Path("README.md"))


def test_a_place_is_right_only_when_it_names_the_same_division():
    assert same_place("广西壮族自治区", "广西壮族自治区") and same_place("克州", "克孜勒苏柯尔克孜自治州")
    assert same_place("广西", "广西壮族自治区")  # the alias rule: a stem only one division has
    assert not same_place("吉林", "吉林省")  # a province and a city share it
    assert not same_place("文山市", "文山壮族苗族自治州")


def _collection(root: Path) -> Path:
    """A made-up collection in the same layout: one report right, one whose text names another city."""
    (root / "其他地市" / "柘原市").mkdir(parents=True)
    (root / "其他地市" / "柘原市" / "2024.md").write_text(
        "---\nsource: https://example.gov.cn/1\ntitle: 政府工作报告\n---\n"
        "——2024年1月9日在柘原市第九届人民代表大会第三次会议上\n各位代表：\n我代表市人民政府向大会报告工作。\n", "utf-8")
    (root / "其他地市" / "临江市").mkdir(parents=True)
    (root / "其他地市" / "临江市" / "2023.md").write_text(
        "——2022年12月20日在柘原市第九届人民代表大会第二次会议上\n各位代表：\n", "utf-8")
    return root


def test_the_command_prints_accuracy_and_every_miss(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--catalogue", str(_collection(tmp_path)), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "published" in result.output and "stripped" in result.output and "50.00%" in result.output
    assert "[published] 其他地市/临江市/2023.md  region: 柘原市 ≠ 临江市" in result.output
    assert "year" not in result.output.split("Misses")[1]  # December 2022 plans 2023: right
    assert (tmp_path / "out" / "catalogue-check.json").is_file()
    only = CliRunner().invoke(app, ["eval", "--catalogue", str(tmp_path), "--strip-front-matter"])
    assert "stripped" in only.output and "published " not in only.output


def test_the_command_fails_clearly_on_bad_input(tmp_path):
    missing = CliRunner().invoke(app, ["eval", "--catalogue", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "Folder not found" in missing.output and "目录不存在" in missing.output
    layout = CliRunner().invoke(app, ["eval", "--catalogue", str(tmp_path), "--layout", "flat"])
    assert layout.exit_code == 2 and "Unknown layout" in layout.output
    (tmp_path / "a.md").write_text("各位代表：\n", "utf-8")
    empty = CliRunner().invoke(app, ["eval", "--catalogue", str(tmp_path)])
    assert empty.exit_code == 1 and "No report" in empty.output and "a.md" in empty.output
    no_dataset = CliRunner().invoke(app, ["eval"])
    assert no_dataset.exit_code == 2 and "--dataset" in no_dataset.output
