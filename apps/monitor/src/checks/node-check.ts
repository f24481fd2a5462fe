import type { ClusterResources, ClusterStatus } from '@haia/proxmox';
import type { CheckOutcome, Observation } from '../observation.js';

/**
 * Nodes that are offline (one alert per node) and a cluster that lost quorum. When nodes are offline
 * the lost quorum is said in their alerts instead of a second alert for the same incident.
 */
export function checkNodes(resources: ClusterResources, status: ClusterStatus): CheckOutcome {
  const offline = resources.nodes.filter((node) => !node.online).length;
  const quorumNote = status.clustered && !status.quorate ? ' The cluster has lost quorum.' : '';
  const observations: Observation[] = resources.nodes.map((node) => {
    const guests = resources.guests.filter((guest) => guest.node === node.node && !guest.template).length;
    return {
      key: `node:${node.node}`,
      ok: node.online,
      severity: 'critical',
      title: `Node ${node.node} is offline`,
      body: node.online
        ? `Node ${node.node} is online again.`
        : `Node ${node.node} does not answer the cluster (status ${node.status}); its ${guests} guest${guests === 1 ? '' : 's'} cannot be reached.${quorumNote}`,
      fields: [{ name: 'Node', value: node.node }],
    };
  });
  if (status.clustered) {
    const online = status.nodes.filter((node) => node.online).length;
    observations.push({
      key: 'cluster:quorum',
      ok: status.quorate || offline > 0,
      severity: 'critical',
      title: `Cluster ${status.name ?? ''} has no quorum`.replace('  ', ' '),
      body: status.quorate
        ? 'The cluster is quorate again.'
        : `Only ${online} of ${status.nodeCount} nodes are online: the cluster is not quorate, so guests cannot be started or changed.`,
    });
  }
  return { check: 'nodes', observations };
}
