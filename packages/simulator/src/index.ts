export {
  loadScenario,
  parseScenario,
  defaultScenarioPath,
  ScenarioSchema,
  INCIDENT_KINDS,
  POD_SCOPED_KINDS,
  type Scenario,
  type ScenarioIncident,
} from './scenario.ts';
export { FleetSimulation, backoffSeconds, type SimEvent, type Emitted } from './fleet.ts';
export { sendEvents } from './sender.ts';
export { createSimulator, type Simulator, type SimulatorOptions, type SimulatorStats } from './simulator.ts';
export { pullErrorDetail, kubeletMessages } from './messages.ts';
