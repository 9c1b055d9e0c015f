"""Every input of a cost question, declared once: the one table the front ends are made from.

An `Input` names a `Request` field, its flag, how its text is read, its unit, its valid range
and why, whether it may sweep (a:b:step) or be uncertain (a~b), its help panel and its help in
English and Chinese. From `INPUTS` come `subsidybench cost`'s options (cli/cost.py), the range
checks (`RANGES`, cost.request.check), the sweep and range parsing (`SWEEPABLE`, `UNCERTAIN`,
cost.door.read), the keys of a comparison file (`OPTION_KEYS`), the page's form fields and URL
parameters (ui/), and the live workbook's input rows (`sheet_inputs`, report.live_workbook). A
URL parameter is the flag without its dashes (`--small-firm`: `small-firm`);
tests/test_inputs.py adds a made-up input and finds it in each of those places.

A leaf: imports nothing from the costing modules, so every one of them may import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from subsidybench import bounds
from subsidybench.bounds import Range


class Kind(Enum):
    """How an input's text is read."""

    VALUES = "values"  # a number, a list a,b,c or a sweep a:b:step (SWEEPABLE), or a~b
    NUMBER = "number"
    INTEGER = "integer"
    TEXT = "text"
    PAIR = "pair"  # PARAMS:TOKENS
    SWITCH = "switch"  # a flag that is off unless given
    TRISTATE = "tristate"  # --x / --not-x / not given
    FILE = "file"
    FILES = "files"  # repeatable


class Panel(Enum):
    """Help panels of `cost --help`, and the page's sections, in this order."""

    JOB = ("Job", "作业")
    DEVICE = ("Device and price", "设备与价格")
    SUBSIDY = ("Subsidy", "补贴")
    WORK = ("Throughput", "吞吐")
    OWNED = ("Owned hardware", "自有硬件")
    SLO = (
        "Serving SLO (with --serve and a serving --run)",
        "服务 SLO（配合 --serve 与服务 --run）",
    )
    RANGES = ("Ranges", "区间")
    OUTPUT = ("Output", "输出")

    def title(self, lang: str = "en") -> str:
        return self.value[1] if lang == "zh" else self.value[0]


@dataclass(frozen=True, slots=True)
class Input:
    """One input of a cost question; `name` is its Request field."""

    name: str
    kind: Kind
    panel: Panel
    help: str
    zh: str
    unit: str = ""
    range: Range | None = None
    sweepable: bool = False
    uncertain: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    flag: str = ""
    """The flag, where it is not --NAME with dashes for underscores."""
    request: bool = True
    """A Request field (output flags such as --json are the command's, not the question's)."""
    page: bool = True
    """A field of the page's form (files are uploaded there, never named by path)."""
    option_key: bool = False
    """A key of a comparison file's [[option]] table."""
    catalogue: str = ""
    """The catalogue it names an entry of (devices, subsidies): the page offers a list."""
    sheet: bool = False
    """An input row of the live workbook (report.live_workbook), its number format from its
    unit: a cell an analyst edits, which the sheet's formulas should read."""

    def __post_init__(self) -> None:
        if (self.sweepable or self.uncertain) and self.kind not in (Kind.VALUES, Kind.NUMBER):
            raise ValueError(f"{self.name}: only numbers sweep or take a range")
        if self.sweepable and self.kind is not Kind.VALUES:
            raise ValueError(f"{self.name}: a sweepable input is read as VALUES")
        cell = (Kind.VALUES, Kind.NUMBER, Kind.INTEGER, Kind.SWITCH, Kind.TRISTATE)
        if self.sheet and self.kind not in cell and self.unit != "date":
            raise ValueError(f"{self.name}: a workbook cell holds a number, a switch or a date")

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def param(self) -> str:
        """The URL parameter: the flag without its dashes."""
        return self.option.removeprefix("--")

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.help


def _share(what: str) -> Range:
    return Range(0.0, 1.0, what, low_open=True)


# Upper bounds sit orders of magnitude above anything real, so a true figure never meets one,
# while 6ND, hours x price and the like stay far from float overflow (bounds.py says why).
PARAMS = Range(0.0, 1e15, "parameters (the largest published models: ~2e12)", low_open=True)
TOKENS = Range(0.0, 1e17, "training tokens (the largest published runs: ~4e13)", low_open=True)
MS = Range(0.0, 1e9, "milliseconds", low_open=True)

J, D, S, W, O, SLO, R, OUT = Panel  # noqa: E741  (short names keep the table one line a row)
V, N, I, T = Kind.VALUES, Kind.NUMBER, Kind.INTEGER, Kind.TEXT  # noqa: E741

# fmt: off
# (ruff format would put every argument on a line of its own: 700 lines for one table)
INPUTS: tuple[Input, ...] = (
    # --- the job ------------------------------------------------------------------------
    Input("train", Kind.PAIR, J, "Train PARAMS:TOKENS, e.g. 7e9:2e12. PARAMS are the parameters "
          "each token passes through (a mixture of experts: the activated ones), which drive the "
          "FLOPs.", "训练 参数:词元，如 7e9:2e12（混合专家模型取激活参数）。", "params:tokens"),
    Input("total_params", N, J, "A mixture's total parameters: recorded, not used for FLOPs.",
          "混合专家模型的总参数：仅记录，不计入 FLOPs。", "parameters", PARAMS),
    Input("layers", I, J, "Layers, for the attention FLOPs term.", "层数（注意力 FLOPs 项）。",
          "layers", Range(1, 1e5, "layers", integer=True)),
    Input("attention_width", N, J, "Heads x head width (d_model in most models), attention term.",
          "头数 × 头宽（多数模型即 d_model），注意力项。", "",
          Range(0.0, 1e7, "attention width", low_open=True)),
    Input("seq_len", I, J, "Training sequence length, attention term.", "训练序列长度，注意力项。",
          "tokens", Range(1, 1e9, "tokens of context", integer=True)),
    Input("serve", N, J, "Serve this many inference tokens; with a --run that has a serving "
          "curve, output tokens at its goodput point, the whole curve shown.",
          "推理服务的词元数；配合带服务曲线的 --run，按其有效吞吐点计。", "tokens",
          Range(0.0, 1e20, "tokens served", low_open=True)),
    Input("params", N, J, "Model parameters, serving at a FLOP rate (2N).",
          "模型参数（按 FLOP 速率推理，2N）。", "parameters", PARAMS),
    Input("hours", V, J, "Device-hours to buy; with --train, the device-hours the training took "
          "(the throughput and MFU they imply are printed).", "购买的设备小时；配合 --train 为训练"
          "实际用去的设备小时。", "device-hours",
          Range(0.0, 1e12, "device-hours", low_open=True), True, True, sheet=True),
    Input("contract", V, J, "A contract value, in --currency (or --in); needs no price, which "
          "only adds the device-hours it buys.", "合同金额（--currency 或 --in 币种）；无需价格，"
          "价格只用于换算可购买的设备小时。", "money", bounds.MONEY, True, True, sheet=True),
    Input("reach", T, J, "How far a subsidy goes: 'cap', 'pool' or an amount. With --train, "
          "counts runs.", "补贴能覆盖多远：'cap'、'pool' 或金额。", ""),
    Input("compare", Kind.FILE, J, "A TOML file of [[option]] tables (device, price, throughput,"
          " programme): cost the job on each and rank them by net cost per unit of work.",
          "比较文件（TOML，[[option]] 表）：逐项计价并按单位有效工作净成本排序。",
          request=False, page=False),
    Input("contract_size", N, J, "With --reach: firms covered at this contract size each.",
          "配合 --reach：按此合同规模计可覆盖的企业数。", "money", bounds.MONEY),
    # --- throughput -----------------------------------------------------------------------
    Input("run", Kind.FILES, W, "A run result (JSON) to take the measured rate from; repeat it "
          "with more runs of the same workload to put their spread into the range (the first run "
          "gives the point figure).", "运行结果（JSON），取其实测速率；多个同负载运行的离散计入"
          "区间。", option_key=True),
    Input("workload", T, W, "Which workload of --run (its id).", "--run 中的负载（id）。",
          option_key=True),
    Input("metric", T, W, "From --run: its FLOP rate or its token rate.",
          "取 --run 的 FLOP 速率或词元速率。", default="flops", choices=("flops", "tokens"),
          option_key=True),
    Input("force", Kind.SWITCH, W, "Cost a result whose verdict is invalid (marked).",
          "对判定无效的结果也计价（会标注）。", default=False, option_key=True),
    Input("estimate_on", T, W, "Cost on this device profile, the --run rate scaled to it by the "
          "roofline (an estimate, labelled so, with its basis).", "按屋顶线模型把 --run 速率换算到"
          "此设备档案上计价（估算，并注明依据）。", catalogue="devices"),
    Input("tflops", V, W, "Sustained model TFLOP/s per device (6N per token).",
          "每设备持续模型 TFLOP/s（每词元 6N）。", "TFLOP/s", bounds.PEAK_TFLOPS, True, True,
          option_key=True, sheet=True),
    Input("hardware_tflops", N, W, "Sustained hardware TFLOP/s per device, counting "
          "recomputation (as papers quote it); converted to model FLOPs with --recomputation.",
          "每设备持续硬件 TFLOP/s（含重计算），按 --recomputation 换算。", "TFLOP/s",
          bounds.PEAK_TFLOPS),
    Input("recomputation", T, W, "How --hardware-tflops counted: full (8N per token) or none.",
          "--hardware-tflops 的计法：full（8N）或 none。", choices=("full", "none")),
    Input("tokens_per_s", V, W, "Sustained tokens/s per device for this job's model.",
          "本作业模型每设备持续词元/秒。", "tokens/s",
          Range(0.0, 1e12, "tokens per second per device", low_open=True), True, True,
          option_key=True, sheet=True),
    Input("mfu", V, W, "Model-FLOPs utilisation (0-1] of the dense --dtype peak.",
          "模型 FLOPs 利用率 (0-1]，相对 --dtype 稠密峰值。", "share",
          _share("a share of the peak"), True, True, option_key=True),
    Input("published", T, W, "Cost at a published result's rate ('subsidybench published list'):"
          " basis published, its source and conditions printed.", "按公开发表结果的速率计价（见"
          " subsidybench published list）：依据为公开发表，注明来源与条件。", option_key=True,
          page=False),
    Input("model", T, W, "The job's model (e.g. deepseek-r1): with --profile alone, takes the one"
          " published result for it there (--tpot-ms picks among decode results).",
          "作业的模型（如 deepseek-r1）：仅配合 --profile 时取该设备上此模型唯一的公开结果"
          "（--tpot-ms 在解码结果中挑选）。", page=False),
    Input("peak_tflops", N, W, "Peak TFLOP/s (default: profile).", "峰值 TFLOP/s（默认取档案）。",
          "TFLOP/s", bounds.PEAK_TFLOPS, option_key=True),
    Input("dtype", T, W, "The peak MFU is against (papers: bf16).", "MFU 所对的峰值精度（论文多用"
          " bf16）。", default="bf16", option_key=True),
    # --- serving SLO ----------------------------------------------------------------------
    Input("tokens_per_user", N, SLO, "Serving SLO: at least this many tokens/s per user.",
          "服务 SLO：每用户至少词元/秒。", "tokens/s",
          Range(0.0, 1e9, "tokens per second per user", low_open=True)),
    Input("ttft_ms", N, SLO, "Serving SLO: time to first token, ms.",
          "服务 SLO：首词元时间（毫秒）。", "ms", MS),
    Input("tpot_ms", N, SLO, "Serving SLO: time per output token, ms.",
          "服务 SLO：每输出词元时间（毫秒）。", "ms", MS),
    Input("slo_percentile", I, SLO, "Percentile the SLO holds at: 50, 90 or 99 (default 99).",
          "SLO 成立的分位：50、90 或 99（默认 99）。", "percentile",
          Range(50, 99, "50, 90 or 99", integer=True), choices=("50", "90", "99")),
    # --- device, cluster, price -----------------------------------------------------------
    Input("profile", T, D, "Device profile: peak, rent, power, origin.",
          "设备档案：峰值、租金、功耗、产地。", catalogue="devices", option_key=True),
    Input("profiles_dirs", Kind.FILES, D, "A directory laid out like profiles/ (devices/NAME.toml,"
          " subsidies/NAME.toml), searched before the built-in catalogue and SUBSIDYBENCH_PROFILES;"
          " repeatable.", "按 profiles/ 布局的目录，先于内置目录搜索；可重复。",
          flag="--profiles-dir", page=False),
    Input("domestic", Kind.TRISTATE, D, "Whether the chip is domestic (default: the profile's, "
          "else not).", "是否国产芯片（默认取档案，否则否）。", option_key=True),
    Input("devices", V, D, "Devices working together.", "协同工作的设备数。", "devices",
          Range(1, 1e8, "devices", integer=True), True, option_key=True, sheet=True),
    Input("duration_days", N, D, "Days a job given in hours or money runs (instead of "
          "--devices).", "按小时或金额给出的作业运行天数（代替 --devices）。", "days",
          Range(0.0, 1e5, "days", low_open=True), flag="--duration", sheet=True),
    Input("scaling_efficiency", V, D, "Share (0-1] of n x one device's rate a cluster reaches, "
          "where a per-device rate is scaled to more than one device.", "集群达到 n × 单设备速率的"
          "比例 (0-1]。", "share", _share("a share of perfect scaling"), True, True,
          option_key=True, sheet=True),
    Input("scaling_from", Kind.FILE, D, "A distributed run result: the scaling efficiency it "
          "measured at --devices ranks (or the nearest size, labelled so).",
          "分布式运行结果：取其在 --devices 规模实测的扩展效率。", page=False),
    Input("scaling_workload", T, D, "Which series of --scaling-from.", "--scaling-from 中的序列。",
          page=False),
    Input("price", V, D, "Rent per device-hour.", "每设备小时租金。", "money/device-hour",
          bounds.MONEY, True, True, option_key=True, sheet=True),
    Input("vs", T, D, "A priced device profile: answer the rent at which --profile matches it"
          " on this job, each with its own programme terms.", "已定价的设备档案：求 --profile 在本"
          "作业上与之持平的租金（各按自身补贴条款）。", catalogue="devices", page=False),
    Input("market", T, D, "Take the --profile's rent in this market: cn (quoted in CNY), us (in "
          "USD). Default: on-demand first, then the newest, in any market; the answer names the "
          "rent taken and lists the others.", "取 --profile 在此市场的租金：cn（人民币报价）、us"
          "（美元）。默认先按需、再取最新；答案会写明所取租金并列出其他。"),
    Input("rent_id", T, D, "Take this rent of the --profile, by the id the answer lists.",
          "按答案列出的 id 取 --profile 的这一租金。", flag="--rent"),
    Input("currency", T, D, "Currency of --price, of owned money, or of --contract.",
          "--price、自有成本或 --contract 的币种。", option_key=True),
    Input("report_currency", T, D, "Currency to answer in.", "答案币种。", flag="--in"),
    Input("fx", N, D, "Exchange rate as profiles/fx states it (CNY per USD); default: dated. a~b: "
          "a range.", "汇率（每美元人民币）；默认取带日期的数据。a~b：区间。", "CNY/USD", bounds.FX,
          uncertain=True, sheet=True),
    # --- owned hardware -------------------------------------------------------------------
    Input("capex", V, O, "Owned: purchase price per device.", "自有：每设备购置价。", "money",
          Range(0.0, 1e12, "money"), True),
    Input("lifetime", V, O, "Owned: years of the capex.", "自有：折旧年限。", "years",
          Range(0.0, 100.0, "years", low_open=True), True),
    Input("cost_of_capital", V, O, "Yearly cost of money [0, 1]; discounts late money.",
          "资金年成本 [0, 1]；用于折现。", "share/year", Range(0.0, 1.0, "a yearly rate"), True),
    Input("power_w", V, O, "Owned: average watts per device.", "自有：每设备平均功率（瓦）。", "W",
          Range(0.0, 1e9, "watts"), True),
    Input("pue", V, O, "Owned: power usage effectiveness (>= 1).", "自有：电能使用效率（≥1）。",
          "", Range(1.0, 10.0, "power usage effectiveness"), True),
    Input("tariff", V, O, "Owned: electricity price per kWh.", "自有：每千瓦时电价。", "money/kWh",
          Range(0.0, 1e6, "money per kWh"), True),
    Input("hosting", V, O, "Owned: hosting per device-year.", "自有：每设备年托管费。",
          "money/device-year", Range(0.0, 1e12, "money per device-year"), True),
    Input("utilisation", V, O, "Owned: share (0-1] of hours worked (default 1).",
          "自有：工作小时占比 (0-1]（默认 1）。", "share", _share("a share of the year"), True),
    # --- the subsidy ----------------------------------------------------------------------
    Input("subsidy", T, S, "Programme ('subsidybench subsidies list').",
          "补贴项目（见 subsidybench subsidies list）。", catalogue="subsidies", option_key=True),
    Input("power_subsidy", T, O, "Owned: a programme that pays part of the power bill (e.g. "
          "gansu-2025-electricity).", "自有：补贴部分电费的项目。", catalogue="subsidies"),
    Input("rate", V, S, "Subsidy rate [0, 1], replacing any other.", "补贴比例 [0, 1]，取代其他。",
          "share", bounds.RATE, True, True, option_key=True, sheet=True),
    Input("cap", N, S, "Cap on --rate without a programme (0: none).",
          "无项目时 --rate 的上限（0：无补贴）。", "money",
          Range(0.0, 1e12, "money; 0 = no subsidy")),
    Input("small_firm", Kind.SWITCH, S, "The firm gets a small-firm rate.", "适用小微企业比例。",
          default=False, option_key=True),
    Input("spend", T, S, "compute-rent (rent), compute-build (owned), model-services, datasets.",
          "支出类别：compute-rent、compute-build、model-services、datasets。",
          choices=("compute-rent", "compute-build", "model-services", "datasets")),
    Input("start", T, S, "The job's first day, YYYY-MM-DD (default today, printed): a programme "
          "pays only while valid, and yearly caps apply in each calendar year the job runs in.",
          "作业开始日期 YYYY-MM-DD（默认今天并打印）：项目仅在有效期内支付，年度上限按作业所跨的"
          "每个自然年分别计算。", "date", sheet=True),
    Input("assume_valid", Kind.SWITCH, S, "Pay the programme as valid for the whole job, even "
          "where its dates say it has ended or not begun (said in the answer).",
          "即使项目按日期已结束或尚未开始，也按整个作业期间有效计算（答案中会注明）。",
          default=False, sheet=True),
    # --- output and ranges ----------------------------------------------------------------
    Input("json", Kind.FILE, OUT, "Also write the answer as JSON.", "另存答案为 JSON。",
          request=False, page=False),
    Input("csv", Kind.FILE, OUT, "Also write the answer (every sweep row) as CSV.",
          "另存答案（含全部扫描行）为 CSV。", request=False, page=False),
    Input("rows", I, OUT, "Sweep rows to print (all go to files).", "打印的扫描行数。", "rows",
          Range(1, 1e9, "rows", integer=True), default=40, request=False, page=False),
    Input("max_scenarios", I, OUT, "Largest sweep grid (default 1,000,000).",
          "扫描网格上限（默认 1,000,000）。", "scenarios",
          Range(1, 1e9, "scenarios", integer=True)),
    Input("seed", I, R, "Seed of the ranges' draws (default fixed, printed).",
          "区间抽样种子（默认固定并打印）。", "", Range(0, 2**63 - 1, "a seed", integer=True)),
    Input("draws", I, R, "Monte Carlo draws per range (default 100,000).",
          "每个区间的蒙特卡洛抽样数（默认 100,000）。", "draws",
          Range(1_000, 10_000_000, "draws", integer=True)),
    Input("lang", T, OUT, "en or zh (default: SUBSIDYBENCH_LANG, else en).",
          "en 或 zh（默认取 SUBSIDYBENCH_LANG，否则 en）。", request=False),
    Input("units", T, OUT, "Amounts: plain, wan (万), yi (亿), auto (zh default).",
          "金额单位：plain、wan（万）、yi（亿）、auto（中文默认）。",
          choices=("plain", "wan", "yi", "auto"), request=False),
    Input("xlsx", Kind.FILE, OUT, "Also write a live Excel workbook: formulas from input cells "
          "(one answer).", "另存为带公式的 Excel 工作簿（单个答案）。", request=False, page=False),
)
# fmt: on

BY_NAME: dict[str, Input] = {i.name: i for i in INPUTS}
BY_PARAM: dict[str, Input] = {i.param: i for i in INPUTS}


def ranges(table: tuple[Input, ...] = INPUTS) -> dict[str, Range]:
    """Every numeric input's valid range, by Request field; train's parts as params, tokens."""
    return {"tokens": TOKENS, **{i.name: i.range for i in table if i.range is not None}}


def sweepable(table: tuple[Input, ...] = INPUTS) -> tuple[str, ...]:
    """Inputs that may be given several values (a sweep axis each)."""
    return tuple(i.name for i in table if i.sweepable)


def uncertain(table: tuple[Input, ...] = INPUTS) -> tuple[str, ...]:
    """Inputs that may be given as a range a~b."""
    return tuple(i.name for i in table if i.uncertain)


def sheet_inputs(table: Sequence[Input] = INPUTS) -> tuple[Input, ...]:
    """The live workbook's input rows, in the table's order."""
    return tuple(i for i in table if i.sheet)


def option_keys(table: tuple[Input, ...] = INPUTS) -> frozenset[str]:
    """The keys of a comparison file's [[option]] table."""
    return frozenset({"label"} | {i.name for i in table if i.option_key})


RANGES = ranges()
SWEEPABLE = sweepable()
UNCERTAIN = uncertain()
OPTION_KEYS = option_keys()


def flag_of(key: str, table: Sequence[Input] = INPUTS) -> str:
    """How the CLI says input `key` in a message (errors.named): its flag (`report_currency`:
    --in); a name the table does not hold is said as a flag the same way (--NAME)."""
    found = next((i for i in table if i.name == key), None)
    return found.option if found is not None else "--" + key.replace("_", "-")


def param_of(key: str, table: Sequence[Input] = INPUTS) -> str:
    """How the page says input `key` in a message: its field's label, the URL parameter
    (`small_firm`: small-firm)."""
    return flag_of(key, table).removeprefix("--")


_FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def flags_said(text: str, say: Callable[[str], str], table: Sequence[Input] = INPUTS) -> str:
    """`text` (a help text, a panel's title) with each flag of the table it spells said by
    `say(input name)`: the help is written for the CLI ("give --price"), and the page and the
    workbook name inputs their own way (`price`)."""
    by_option = {i.option: i.name for i in table}
    return _FLAG.sub(lambda m: say(by_option[m[0]]) if m[0] in by_option else m[0], text)


def written(key: str, names: Mapping[str, str]) -> str:
    """How a question's user wrote input `key`, for the sources an answer prints beside its
    figures: as `names` says (a comparison file's key), else as its flag (flag_of)."""
    return names.get(key) or flag_of(key)
