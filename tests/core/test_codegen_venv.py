"""Generated scripts run in a fresh virtualenv that holds only what their header lists.

The packages come from PyPI with pip, at requirements.txt's pins (tensorflow as the
tensorflow-cpu wheel). Installing TensorFlow takes the most time, so it happens once per
test session: the packages every script here needs go into a base virtualenv, and each
script whose header lists more gets its own virtualenv that sees the base through a `.pth`
file and installs the rest. So each script runs with exactly its header's packages (and
what pip pulls in for them). No network, no PyPI: these tests fail, they do not skip.

Select them with `-m venv`.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import codegen
from core.spec import ExperimentSpec, LayerSpec, tutorial_augmentation
from tests.core.test_codegen_and_cli import engine_run, unzip_demo_folder
from tests.core.test_codegen_variants import header_needs

pytestmark = pytest.mark.venv

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    """requirements.txt's `name==version` by pip name; tensorflow is the tensorflow-cpu wheel."""
    found = {}
    lines = [*(ROOT / "requirements.txt").read_text().splitlines(), *(ROOT / "requirements-common.txt").read_text().splitlines()]
    for line in lines:
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name = requirement.split("==")[0].strip().lower()
            found["tensorflow" if name == "tensorflow-cpu" else name] = requirement
    return found


def digits_cnn() -> ExperimentSpec:
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [
        LayerSpec.make("Conv2D", filters=8, padding="same"),
        LayerSpec.make("MaxPooling2D"),
        LayerSpec.make("Flatten"),
        LayerSpec.make("Dense", units=32),
    ]
    spec.ensure_layer_names()
    spec.fit.epochs = 2
    return spec


def iris_with_tensorboard() -> ExperimentSpec:
    spec = ExperimentSpec.default_for("iris")
    spec.fit.epochs, spec.fit.tensorboard = 3, True
    return spec


def folder_augmented() -> ExperimentSpec:
    spec = ExperimentSpec.default_for("folder")
    spec.data.image_height, spec.data.image_width = 24, 36
    spec.augment = tutorial_augmentation()
    spec.fit.epochs = 2
    return spec


def plane_regression() -> ExperimentSpec:
    spec = ExperimentSpec.default_for("plane")
    spec.fit.epochs = 3
    return spec


SCRIPTS = {
    "digits-cnn": digits_cnn,
    "iris-tensorboard": iris_with_tensorboard,
    "folder-augmented": folder_augmented,
    "plane-regression": plane_regression,
}


def _run(args: list, timeout: int = 1800, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)


class Environments:
    """Virtualenvs for sets of pip packages, under one folder, made on first use."""

    def __init__(self, root: Path, base: list[str]):
        self.root, self.base, self.made, self.seconds = root, sorted(base), {}, {}
        self.base_python = self._venv("base", self.base)
        self.base_site = self._site(self.base_python)

    def python_for(self, packages: list[str]) -> Path:
        key = tuple(sorted(packages))
        if key not in self.made:
            assert set(self.base) <= set(key), f"{key} lacks some of the base packages {self.base}"
            self.made[key] = self.base_python if list(key) == self.base else self._venv("-".join(key), key, layered=True)
        return self.made[key]

    def _venv(self, name: str, packages, layered: bool = False) -> Path:
        folder = self.root / name
        start = time.perf_counter()
        made = _run([sys.executable, "-m", "venv", folder])
        assert made.returncode == 0, made.stderr
        python = folder / "bin" / "python"
        extra = list(packages)
        if layered:  # the base's packages through a .pth: TensorFlow is installed once
            (self._site(python) / "playground_base.pth").write_text(f"{self.base_site}\n")
            extra = [p for p in packages if p not in self.base]
        table = pins()
        out = _run([python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *(table[p] for p in extra)])
        assert out.returncode == 0, f"pip could not install {extra} from PyPI:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        self.seconds[name] = time.perf_counter() - start
        print(f"\nvirtualenv {name}: {' '.join(table[p] for p in extra)} in {self.seconds[name]:.0f} s")
        return python

    @staticmethod
    def _site(python: Path) -> Path:
        out = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], timeout=60)
        return Path(out.stdout.strip())


@pytest.fixture(scope="session")
def environments(tmp_path_factory) -> Environments:
    headers = [header_needs(codegen.script(make()))[0] for make in SCRIPTS.values()]
    base = [p for p in headers[0] if all(p in h for h in headers)]
    return Environments(tmp_path_factory.mktemp("venvs"), base)


def run_in(python: Path, source: str, folder: Path, figure: str = "accuracy") -> str:
    """Run the script, then print its test loss and `figure` (accuracy, or a regression's mae) at full precision."""
    (folder / "experiment.py").write_text(source + f'\nimport json\nprint("NUMBERS " + json.dumps([loss, {figure}]))\n')
    out = _run([python, "experiment.py"], timeout=600, cwd=folder)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_a_script_runs_with_only_the_packages_its_header_lists(name, environments, tmp_path):
    spec = SCRIPTS[name]()
    source = codegen.script(spec, data_name="kinoko_takenoko.zip" if spec.data.name == "folder" else "")
    needs, _ = header_needs(source)
    python = environments.python_for(needs)
    listed = _run([python, "-m", "pip", "list", "--format=json"], timeout=120)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert "matplotlib" not in installed  # optional: the script says how to get the plot
    if spec.data.name == "folder":
        unzip_demo_folder(tmp_path)
    stdout = run_in(python, source, tmp_path, "mae" if spec.regression else "accuracy")
    assert "pip install matplotlib to plot the curves" in stdout
    numbers = json.loads([line for line in stdout.splitlines() if line.startswith("NUMBERS ")][-1].removeprefix("NUMBERS "))
    ours = engine_run(spec).evaluation
    assert numbers == pytest.approx([ours.test_loss, ours.headline], abs=1e-4)  # the pinned versions: the run's numbers
    if spec.fit.tensorboard:
        assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))


def test_without_tensorboard_a_tensorboard_script_fails(environments, tmp_path):
    """What the header's `tensorboard` is for: Keras's TensorBoard callback cannot write without it."""
    source = codegen.script(iris_with_tensorboard())
    assert "tensorboard" in header_needs(source)[0] and "tensorboard" not in environments.base
    (tmp_path / "experiment.py").write_text(source)
    out = _run([environments.base_python, "experiment.py"], timeout=600, cwd=tmp_path)
    assert out.returncode != 0 and "TensorBoard is not installed" in out.stderr
