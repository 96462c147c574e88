/**
 * A process that asks the KMS worker thread one thing and does nothing else: it must print the
 * answer (the worker holds the process open while a request is in flight) and then exit by
 * itself (an idle worker holds nothing open). test/kms/worker-transport.test.ts runs it.
 */
import path from 'node:path';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { WorkerTransport } from '../../src/core/kms/worker-transport';

const transport = new WorkerTransport(path.join(__dirname, '../../dist/kms-worker.js'));
const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [process.env.KMS_ENVELOPE_ALLOWED_KEYS!], transport });
void provider.describe('alias/test').then((key) => process.stdout.write(key.arn));
