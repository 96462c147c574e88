export { KmsKeyProvider } from '../core/kms/aws-kms';
