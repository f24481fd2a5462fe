import type { Agent, ModelSettings } from '@haia/agent';
import type { TurnRunner } from './turn-runner.js';

/**
 * `@haia/agent` as the API's {@link TurnRunner}: the run gets the conversation, the client's
 * disconnect signal, the client's own tools, the request's model settings and its logger. `deps` are passed to
 * every run (the agent's typed dependencies).
 */
export function createAgentRunner<Deps>(agent: Agent<Deps>, deps?: Deps): TurnRunner {
  return {
    run(input) {
      const settings: ModelSettings = { ...input.parameters };
      return agent.run({
        messages: input.messages,
        signal: input.signal,
        clientTools: input.clientTools,
        settings,
        logger: input.logger,
        deps: deps as Deps,
      } as Parameters<Agent<Deps>['run']>[0]);
    },
  };
}
