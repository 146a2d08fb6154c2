"""Benchmark the guidelines rule engine against 280-character Spanish and English replies.

Prints checks/s and p50/p99 per check for the full default packs (single core, in-process),
then the same for the subset of rules Vale can also express (existence, substitution,
occurrence), and runs Vale over the same texts with that subset in one invocation.

    uv run python bench/guidelines.py [--seconds 3] [--no-vale]

Vale is looked up in .cache/bin, then PATH; without it our figures are still printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.guidelines.engine import (  # noqa: E402 - after the path tweak
    CheckContext,
    Competitor,
    CompiledGuideline,
    GuidelineConfig,
    Rule,
    RulePack,
    compile_guideline,
    load_default_packs,
)

VALE_KINDS = ("existence", "substitution", "occurrence")
NAMES = [
    "Marta",
    "Sam",
    "Lucía",
    "Alex",
    "Javier",
    "Priya",
    "Carmen",
    "Tom",
    "Sofía",
    "Noah",
    "Pablo",
    "Emma",
    "Elena",
    "Liam",
    "Diego",
    "Olivia",
    "Irene",
    "Jack",
    "Nuria",
    "Mia",
]
SPANISH = [
    "Hola {name}, sentimos mucho el retraso de tu pedido. Escríbenos por DM con el número y lo "
    "revisamos hoy mismo. Te avisamos en cuanto salga del almacén; si no llega mañana antes de "
    "las 14:00, te enviamos otro sin coste. ¡Gracias por tu paciencia! https://ayuda.example.com",
    "¡Hola {name}! Muchas gracias por tus palabras, nos alegra un montón que te guste la nueva "
    "colección. Se lo contamos ahora mismo al equipo de diseño. Si quieres ver más modelos, "
    "tienes todas las novedades en https://www.example.com/novedades. ¡Un abrazo!",
    "Hola {name}, entendemos tu enfado y lo sentimos. Hemos revisado el cobro y vemos que se "
    "duplicó por un error nuestro en la pasarela de pago. Ya está anulado y lo verás en tu "
    "cuenta en 3-5 días hábiles. Si necesitas el justificante, escríbenos por DM.",
    "Hola {name}, gracias por escribirnos. Para cambiar la dirección de entrega, entra en Mi "
    "cuenta > Pedidos y pulsa en Modificar envío antes de que salga del almacén. Si ya ha "
    "salido, mándanos el link del seguimiento por DM y lo gestionamos con la agencia!!",
    "Buenas {name}, lamentamos que la funda llegara rota. Disculpe las molestias: envíenos una "
    "foto por mensaje privado y le mandamos otra hoy mismo sin coste. Nuestro email es "
    "ayuda@example.com y tb puedes llamarnos. ¿Nos pasas el número de pedido?",
    "Hola {name}, la tienda de Gran Vía abre de lunes a sábado de 10:00 a 21:00 y los domingos "
    "de 11:00 a 20:00. Puedes reservar tu talla en la app y recogerla en dos horas. Si tienes "
    "cualquier duda sobre tallas o disponibilidad, aquí estamos para ayudarte. ¡Feliz día!",
]
ENGLISH = [
    "Hi {name}, sorry about the delay with your order. DM us your order number and we'll look "
    "into it today. We'll let you know as soon as it leaves the warehouse, and if it isn't with "
    "you by 2pm tomorrow we'll send another one. Thanks for bearing with us! https://example.com",
    "Hi {name}! Thanks so much for the kind words, we're thrilled you love the new collection. "
    "We've passed your message on to the design team, who'll be delighted. You can see all the "
    "latest pieces at https://www.example.com/new. Have a great weekend!",
    "Hi {name}, we understand how frustrating this is and we're sorry. We checked the charge and "
    "it was duplicated by a mistake on our payment page. It's been cancelled and you'll see it "
    "back in your account within 3-5 working days. DM us if you need a receipt.",
    "Hi {name}, thanks for getting in touch. To change the delivery address, go to My account > "
    "Orders and tap Edit delivery before it leaves the warehouse. If it's already shipped, pls "
    "DM us the tracking link and we'll sort it with the courier!!",
    "Dear valued customer, we apologize for any inconvenience caused. In order to process your "
    "request, kindly send us an e-mail with your order number at your earliest convenience and "
    "we will revert back within 48 hours. Thank you for contacting us, {name}.",
    "Hi {name}, our Oxford Street store is open Monday to Saturday from 10am to 9pm and on "
    "Sundays from 11am to 6pm. You can reserve your size in the app and pick it up within two "
    "hours. If you've got any questions about sizes or stock, we're here to help. Have a good one!",
]


def replies(templates: list[str]) -> list[str]:
    """Every template with every name, cut to 280 characters like an X reply."""
    return [template.format(name=name)[:280] for template in templates for name in NAMES]


def brand_config(packs: list[str]) -> GuidelineConfig:
    """A realistic brand: tú, two competitors, its own domains."""
    return GuidelineConfig(
        packs=packs,
        formality="tu",
        competitors=[
            Competitor(name="Telefonix", aliases=["Tfx"]),
            Competitor(name="MegaShop"),
        ],
        allowed_domains=["example.com"],
    )


def subset_pack() -> RulePack:
    """The default rules Vale can express too: existence, substitution, occurrence."""
    rules = [
        rule
        for pack in load_default_packs().values()
        for rule in pack.rules
        if rule.kind in VALE_KINDS and not rule.channels
    ]
    return RulePack(id="vale_subset", version="bench", title="Vale subset", rules=tuple(rules))


def measure(
    guideline: CompiledGuideline, texts: list[tuple[str, str]], seconds: float
) -> dict[str, float]:
    """Check the texts round-robin for ``seconds``; return throughput and latency figures.

    Each check is timed twice: wall clock, and CPU time of this thread, which leaves out the
    time other processes of a shared machine take from us.
    """
    context = CheckContext(intent="complaint", inbound_sentiment="negative")
    for text, lang in texts:  # warm up: plans, caches
        guideline.check(text, lang=lang, channel="x", context=context)
    wall: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    deadline = clock() + int(seconds * 1e9)
    started, cpu_started = clock(), cpu_clock()
    while clock() < deadline:
        for text, lang in texts:
            before, cpu_before = clock(), cpu_clock()
            guideline.check(text, lang=lang, channel="x", context=context)
            cpu.append(cpu_clock() - cpu_before)
            wall.append(clock() - before)
    elapsed, cpu_elapsed = (clock() - started) / 1e9, (cpu_clock() - cpu_started) / 1e9
    wall.sort()
    cpu.sort()
    count = len(wall)
    return {
        "checks": count,
        "checks_per_s": count / elapsed,
        "checks_per_cpu_s": count / cpu_elapsed,
        "p50_ms": wall[count // 2] / 1e6,
        "p99_ms": wall[int(count * 0.99)] / 1e6,
        "cpu_p50_ms": cpu[count // 2] / 1e6,
        "cpu_p99_ms": cpu[int(count * 0.99)] / 1e6,
    }


def print_figures(label: str, figures: dict[str, float]) -> None:
    """One line: wall-clock and CPU-time throughput and latency."""
    print(
        f"{label:<32} wall {figures['checks_per_s']:>7,.0f}/s p50 {figures['p50_ms']:.3f} "
        f"p99 {figures['p99_ms']:.3f} ms | CPU {figures['checks_per_cpu_s']:>7,.0f}/s "
        f"p50 {figures['cpu_p50_ms']:.3f} p99 {figures['cpu_p99_ms']:.3f} ms"
    )


# --- Vale --------------------------------------------------------------------------------------


def find_vale() -> str | None:
    """The vale binary from .cache/bin, else PATH."""
    local = ROOT / ".cache" / "bin" / "vale"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("vale")


def vale_rule(rule: Rule) -> dict[str, Any]:
    """Our rule as a Vale rule (same fields; Vale's defaults made explicit)."""
    params = rule.params
    body: dict[str, Any] = {
        "extends": rule.kind,
        "message": rule.message.replace("{match}", "%s"),
        "level": rule.level,
        "ignorecase": params.get("ignorecase", True),
    }
    for key in ("tokens", "raw", "swap", "nonword", "token", "max", "min", "exceptions"):
        if key in params:
            body[key] = params[key]
    if rule.kind == "occurrence":
        body["scope"] = rule.scope
    return body


def write_vale_project(folder: Path, pack: RulePack, texts: list[tuple[str, str]]) -> int:
    """A Vale config, one style per language and one file per text; returns the file count."""
    for lang in ("es", "en"):
        style = folder / "styles" / f"Bench{lang.capitalize()}"
        style.mkdir(parents=True)
        for rule in pack.rules:
            if rule.languages and lang not in rule.languages:
                continue
            name = rule.id.replace(".", "_").replace("-", "_")
            (style / f"{name}.yml").write_text(json.dumps(vale_rule(rule), ensure_ascii=False))
    (folder / ".vale.ini").write_text(
        "StylesPath = styles\nMinAlertLevel = suggestion\n\n"
        "[*_es.txt]\nBasedOnStyles = BenchEs\n\n[*_en.txt]\nBasedOnStyles = BenchEn\n"
    )
    docs = folder / "docs"
    docs.mkdir()
    for index, (text, lang) in enumerate(texts):
        (docs / f"reply_{index:05d}_{lang}.txt").write_text(text + "\n", encoding="utf-8")
    return len(texts)


def run_vale(vale: str, texts: list[tuple[str, str]], pack: RulePack) -> dict[str, float] | None:
    """Run Vale once over every text on one core; return its throughput."""
    with tempfile.TemporaryDirectory(prefix="vale-bench-") as tmp:
        folder = Path(tmp)
        count = write_vale_project(folder, pack, texts)
        command = [vale, "--config", str(folder / ".vale.ini"), "--output", "JSON", "docs"]
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        env = {**os.environ, "GOMAXPROCS": "1"}
        started = time.perf_counter()
        completed = subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        if completed.returncode not in (0, 1):  # 1 = alerts at error level
            print(f"vale failed ({completed.returncode}): {completed.stderr.strip()[:600]}")
            return None
        alerts = json.loads(completed.stdout or "{}")
        alert_count = sum(len(items) for items in alerts.values())
    return {
        "checks": count,
        "checks_per_s": count / elapsed,
        "seconds": elapsed,
        "alerts": alert_count,
    }


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--no-vale", action="store_true", help="skip the Vale comparison")
    parser.add_argument("--vale-copies", type=int, default=5, help="copies of each text for Vale")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    spanish = [(text, "es") for text in replies(SPANISH)]
    english = [(text, "en") for text in replies(ENGLISH)]
    mixed = [pair for duo in zip(spanish, english, strict=True) for pair in duo]
    print(
        f"{len(spanish)} Spanish + {len(english)} English replies, "
        f"{statistics.fmean(len(t) for t, _ in mixed):.0f} characters on average"
    )

    started = time.perf_counter()
    full = compile_guideline(brand_config(["standards", "tone_style", "legal", "hr"]))
    compile_ms = (time.perf_counter() - started) * 1e3
    packs = load_default_packs()
    rule_total = sum(len(pack.rules) for pack in packs.values())
    print(f"full default packs: {rule_total} rules, compiled in {compile_ms:.0f} ms\n")
    print_figures("full packs, Spanish", measure(full, spanish, args.seconds))
    print_figures("full packs, English", measure(full, english, args.seconds))
    ours_full = measure(full, mixed, args.seconds)
    print_figures("full packs, both", ours_full)

    pack = subset_pack()
    subset = compile_guideline(brand_config(["vale_subset"]), {"vale_subset": pack})
    ours_subset = measure(subset, mixed, args.seconds)
    print_figures(f"Vale subset ({len(pack.rules)} rules), ours", ours_subset)

    for clock in ("wall", "CPU"):
        per_s = ours_full["checks_per_s" if clock == "wall" else "checks_per_cpu_s"]
        p99 = ours_full["p99_ms" if clock == "wall" else "cpu_p99_ms"]
        verdict = "met" if per_s >= 5000 and p99 < 2.0 else "MISSED"
        print(f"targets (>= 5,000 checks/s, p99 < 2 ms, full packs, {clock} clock): {verdict}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} (other processes share them)")

    if args.no_vale:
        return
    vale = find_vale()
    if vale is None:
        print(
            "\nvale not found in .cache/bin or PATH: install it with\n"
            "  make vale\n"
            "(our figures above stand on their own)"
        )
        return
    version = subprocess.run([vale, "--version"], capture_output=True, text=True, check=False)
    figures = run_vale(vale, mixed * args.vale_copies, pack)
    if figures is None:
        return
    print(
        f"\n{version.stdout.strip()}: one invocation, {figures['checks']:.0f} files, "
        f"{figures['seconds']:.2f} s, {figures['alerts']:.0f} alerts (GOMAXPROCS=1)"
    )
    print(f"{'Vale subset, Vale':<32} wall {figures['checks_per_s']:>7,.0f}/s")
    ours_alerts = sum(
        len(subset.check(text, lang=lang, channel="x").violations) for text, lang in mixed
    )
    print(
        f"alerts on the same texts: Vale {figures['alerts'] / args.vale_copies:.0f}, "
        f"ours {ours_alerts} (per copy of the {len(mixed)} texts)"
    )
    ratio = ours_subset["checks_per_s"] / figures["checks_per_s"]
    print(f"ratio ours / Vale on the subset (wall clock both): {ratio:.1f}x")


if __name__ == "__main__":
    main()
