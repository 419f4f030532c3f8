using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// Signing per the Standard Webhooks specification (https://www.standardwebhooks.com/): the secret is
/// "whsec_" + base64 of 32 random bytes; each request carries webhook-id, webhook-timestamp (Unix seconds) and
/// webhook-signature "v1," + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")). The id is the same on
/// every attempt of a delivery, so receivers can drop duplicates; the timestamp is the attempt's, so receivers can
/// refuse old replays.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: its 32 bytes (to seal and store) and its "whsec_" form (to show once).</summary>
    public static (byte[] Key, string Secret) NewSecret()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        return (key, SecretPrefix + Convert.ToBase64String(key));
    }

    public static string Sign(ReadOnlySpan<byte> key, string messageId, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }
}
