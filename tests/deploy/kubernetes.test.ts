/**
 * deploy/ manifests: they parse, the probes hit the real health endpoints on the container's port,
 * a GPU is requested, the Service and the autoscaler point at the Deployment, and every env
 * variable is one the server reads.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../server/config.ts';

// Manifests are untyped YAML; the assertions below are the schema that matters here.
// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary YAML paths
type Manifest = any;

function load(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8'));
  for (const doc of docs) expect(doc.errors, file).toEqual([]);
  return docs.map((doc) => doc.toJS());
}

const [deployment] = load('deployment.yaml');
const [service] = load('service.yaml');
const [hpa] = load('hpa.yaml');
const container = deployment.spec.template.spec.containers[0];

function containerPort(port: string | number): number {
  return typeof port === 'number' ? port : container.ports.find((p: { name: string }) => p.name === port).containerPort;
}

describe('Kubernetes manifests', () => {
  it('are the expected kinds and API versions', () => {
    expect([deployment.apiVersion, deployment.kind]).toEqual(['apps/v1', 'Deployment']);
    expect([service.apiVersion, service.kind]).toEqual(['v1', 'Service']);
    expect([hpa.apiVersion, hpa.kind]).toEqual(['autoscaling/v2', 'HorizontalPodAutoscaler']);
  });

  it('probe readiness on /readyz and liveness on /healthz, on the port the server listens on', () => {
    const port = Number(container.env.find((e: { name: string }) => e.name === 'PORT').value);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(containerPort(container.readinessProbe.httpGet.port)).toBe(port);
    expect(containerPort(container.livenessProbe.httpGet.port)).toBe(port);
  });

  it('request and limit one NVIDIA GPU, with CPU and memory requests', () => {
    expect(container.resources.requests['nvidia.com/gpu']).toBe(1);
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
  });

  it('run as the image non-root user', () => {
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(10001);
  });

  it('set only environment variables the server reads', () => {
    const names: string[] = container.env.map((e: { name: string }) => e.name);
    expect(names.filter((n) => !(n in ENV_VARS))).toEqual([]);
    expect(names).toContain('DEVICE');
  });

  it('select the Deployment pods from the Service, and scale the Deployment with the HPA', () => {
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) expect(podLabels[key]).toBe(value);
    for (const [key, value] of Object.entries(service.spec.selector)) expect(podLabels[key]).toBe(value);
    expect(containerPort(service.spec.ports[0].targetPort)).toBe(8080);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });
});
