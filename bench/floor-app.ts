// The floor of the synth benchmark: the same providers and one resource group, nothing else.
import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { App, TerraformStack } from 'cdktf';
import { AzapiProvider } from '../src/azapi/provider';

const app = new App({ outdir: process.env.BENCH_OUTDIR ?? 'cdktf.out', skipValidation: true });
const stack = new TerraformStack(app, 'floor');
new AzurermProvider(stack, 'azurerm', { features: [{}] });
new AzureadProvider(stack, 'azuread', {});
new AzapiProvider(stack, 'azapi', {});
new ResourceGroup(stack, 'ResourceGroup', { name: 'rg-floor', location: 'swedencentral' });
app.synth();
