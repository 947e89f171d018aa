"""Strategies by name, and the same scenario under each of them side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from omni.kpis import figures as kpis
from omni.simulator.fast import FastSimulation, RunResult, handle_estimates
from omni.simulator.routing_policy import RoutingPolicyStrategy
from omni.simulator.scenario import Scenario
from omni.simulator.strategies import FifoAcd, Strategy

StrategyFactory = Callable[[Scenario], Strategy]


def strategy_factories() -> dict[str, StrategyFactory]:
    """Every strategy the fast mode can run: the FIFO ACD baseline and the routing service's policy."""
    return {
        "fifo": lambda scenario: FifoAcd(handle_estimates(scenario)),
        "routing": RoutingPolicyStrategy.for_scenario,
    }


def run(scenario: Scenario, strategy: str, *, seed: int | None = None) -> RunResult:
    factories = strategy_factories()
    if strategy not in factories:
        raise ValueError(f"unknown strategy {strategy!r}; available: {', '.join(factories)}")
    return FastSimulation(scenario, factories[strategy](scenario), seed=seed).run()


def targets_of(scenario: Scenario) -> dict[str, float]:
    return {channel: seconds for channel, (_, seconds) in scenario.targets.service_level.items()}


def compare(scenarios: Sequence[Scenario], strategies: Sequence[str], *,
            seed: int | None = None) -> tuple[dict[str, dict[str, kpis.ChannelSplit]],
                                              dict[str, dict[str, RunResult]]]:
    """scenario name -> strategy -> KPIs, overall and per channel (and the runs behind them)."""
    table: dict[str, dict[str, kpis.ChannelSplit]] = {}
    runs: dict[str, dict[str, RunResult]] = {}
    for scenario in scenarios:
        for strategy in strategies:
            result = run(scenario, strategy, seed=seed)
            runs.setdefault(scenario.name, {})[strategy] = result
            table.setdefault(scenario.name, {})[strategy] = kpis.split_by_channel(
                result.contacts, result.agents, targets=targets_of(scenario))
    return table, runs

